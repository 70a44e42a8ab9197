"""Drift monitoring: Evidently reports comparing what the service saw and predicted with the
training reference of the model that served it (`guidance monitor drift`)."""
