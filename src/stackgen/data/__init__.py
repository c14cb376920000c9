"""The data: the tutorial's blobs or your table, split once, with the task it poses."""
