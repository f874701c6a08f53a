"""Several instances on one PostgreSQL.

Every instance ingests and serves; exactly one leads. The leader holds a PostgreSQL advisory
lock (`election.py`), routes the queue and runs the periodic jobs (`leadership.py`); each of its
routing writes first checks a fencing epoch in the database (`store/db.py`'s fence, raised by
every new leader), so a leader that lost its lock can assign nothing. Events reach every
instance through LISTEN/NOTIFY (`relay.py`); the queue hands work to the leader through the
database (`queue/commands.py`). On SQLite the service is one process, which always leads.
"""
