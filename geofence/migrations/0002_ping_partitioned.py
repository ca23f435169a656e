"""Location pings: a table partitioned by ``recorded_at`` (PostgreSQL declarative partitioning).

Raw SQL because Django cannot declare partitioning. Daily partitions are created ahead by the
``geofence.partitions`` job (and on demand by ingest); retention drops whole partitions. A
unique index must include the partition key, so it is (device_id, device_seq, recorded_at): the
backstop under the ingest path's own duplicate check, which runs under the offender's lock.
"""

from django.db import migrations

CREATE = """
CREATE TABLE geofence_ping (
    device_id bigint NOT NULL,
    offender_id bigint NOT NULL,
    device_seq bigint NOT NULL,
    recorded_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    lon double precision NOT NULL,
    lat double precision NOT NULL,
    accuracy_m real NOT NULL,
    battery smallint
) PARTITION BY RANGE (recorded_at);
CREATE UNIQUE INDEX geofence_ping_device_seq ON geofence_ping (device_id, device_seq, recorded_at);
CREATE INDEX geofence_ping_offender_time ON geofence_ping (offender_id, recorded_at);
"""

DROP = "DROP TABLE IF EXISTS geofence_ping CASCADE;"


class Migration(migrations.Migration):
    dependencies = [("geofence", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
