-- Plant events from the CMMS and the MES (issue #19): inspections and downtime windows join
-- the event kinds, work orders make re-imports idempotent, and a downtime event owns the
-- calendar span the scheduler reads from machine_downtime.

ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN (
    'failure', 'repair', 'maintenance', 'inspection', 'downtime',
    'error', 'gap', 'offline', 'online'));
ALTER TABLE events ADD COLUMN work_order text;
ALTER TABLE events ADD CONSTRAINT events_ends_after_start CHECK (ends_at IS NULL OR ends_at >= ts);
CREATE UNIQUE INDEX events_work_order ON events (machine_id, kind, work_order)
    WHERE work_order IS NOT NULL;

ALTER TABLE machine_downtime ADD COLUMN event_id bigint REFERENCES events (id) ON DELETE CASCADE;
CREATE UNIQUE INDEX machine_downtime_event ON machine_downtime (event_id)
    WHERE event_id IS NOT NULL;
