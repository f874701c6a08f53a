"""What supervisors read: the live board, statistics as DESIGN.md defines them, the day's report
and chart, occupancy."""
