"""The account brief: the few signals of an advertiser that matter now, tied to its guidance."""
