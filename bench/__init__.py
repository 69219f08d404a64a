"""``make bench``: throughput and memory of the mdc commands, as ratios against same-run baselines."""
