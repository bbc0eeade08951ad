-- Alarm lifecycle after ISA-18.2: acknowledgement comments, shelving with expiry, alarm
-- points taken out of service, and a journal of every state change (who, when, why).
-- (The episode itself stays open/escalated/resolved; alerts/lifecycle.py derives the
-- ISA-18.2 state from these columns, the machine's status and the out-of-service list.)

ALTER TABLE alerts ADD COLUMN ack_comment text;
ALTER TABLE alerts ADD COLUMN shelved_at timestamptz;
ALTER TABLE alerts ADD COLUMN shelved_until timestamptz;
ALTER TABLE alerts ADD COLUMN shelved_by text;
ALTER TABLE alerts ADD COLUMN shelve_reason text;
ALTER TABLE alerts ADD CONSTRAINT alerts_shelf_complete
    CHECK ((shelved_until IS NULL) = (shelved_by IS NULL));

-- A machine's alarms taken out of service (by maintenance, for a reason) until returned.
CREATE TABLE alarm_out_of_service (
    machine_id  integer PRIMARY KEY REFERENCES machines (id) ON DELETE CASCADE,
    since       timestamptz NOT NULL,
    set_by      text NOT NULL,
    reason      text NOT NULL DEFAULT ''
);

-- Every state change of every alarm, oldest first per alarm.
CREATE TABLE alert_journal (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id  bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    action    text NOT NULL CHECK (action IN ('opened', 'escalated', 'resolved', 'acknowledged',
                  'shelved', 'unshelved', 'suppressed', 'out_of_service')),
    actor     text,
    comment   text,
    details   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX alert_journal_alert ON alert_journal (alert_id, at);
CREATE INDEX alerts_opened ON alerts (opened_at);
CREATE INDEX alerts_shelved ON alerts (shelved_until) WHERE shelved_until IS NOT NULL;
