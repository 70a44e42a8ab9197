"""Offline side of advertiser guidance: the domain cores and the Ray jobs that map them over data."""
