"""What the product and the simulator share: vocabularies, action types, the catalog's id scheme,
the raw-data contract and when an action applies to a campaign.

A platform that adopts the product fills the contract's tables from its own warehouse; nothing
here knows how the simulated world behaves.
"""
