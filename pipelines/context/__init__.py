"""The context layer: named, explainable signals about advertisers and campaigns, computed as of
a point in time by the same pure functions offline (Ray Data) and online (one advertiser)."""
