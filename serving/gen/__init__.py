"""Python stubs generated from protos/ by `make proto` (serving.gen.generate); do not edit them."""
