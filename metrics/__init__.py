"""What an operator watches: the desk's Prometheus metrics (docs/operations.md).

A leaf room like `phlo/` and `live/`: it imports no app. The apps record into the metrics defined
here (`metrics.registry`); figures that are the database's (waiting calls, agents by status) are
read at scrape time by collectors the apps register (`register_collector`). Each process serves its
own metrics at `/metrics` (`metrics.views`).
"""
