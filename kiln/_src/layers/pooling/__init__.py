"""Pooling layers: max, average and global pooling in 1, 2 and 3 dimensions."""
