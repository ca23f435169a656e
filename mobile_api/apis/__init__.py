"""Field verification endpoints: the beat officer's app (``mobile``) and the station's,
control room's and NPB's views (``verification``).

Roles without the permission answer 403 (the permission table is public); objects outside the
caller's jurisdiction or assignments answer 404. Every read of task lists (offender data) and
every visit write is audited, with ids and counts only.
"""
