-- Features: versioned definitions, a float8[] per row, watermarks and stored baselines.

-- Why float8[] rather than jsonb: a row holds ~500 features; as jsonb every row repeats
-- every name and every number is printed and parsed as text, which costs more than computing
-- the features. The names live once per version here, the values are one binary array per
-- (machine, ts), written and read with binary COPY. NaN means "not defined at this instant".
CREATE TABLE feature_versions (
    version     text PRIMARY KEY,
    names       text[] NOT NULL,
    definition  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The features table of 0001 was never written with jsonb values; its values become an array
-- aligned with feature_versions.names.
ALTER TABLE features DROP COLUMN "values";
ALTER TABLE features ADD COLUMN "values" double precision[] NOT NULL;
-- Arrays of floats barely compress; skip pglz on write, keep them out of line.
ALTER TABLE features ALTER COLUMN "values" SET STORAGE EXTERNAL;

-- Every instant up to computed_through has been computed for (machine, version); a run
-- starts after it. Updated in the same transaction as the rows it covers.
CREATE TABLE feature_watermarks (
    machine_id        integer NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    version           text NOT NULL REFERENCES feature_versions (version) ON DELETE CASCADE,
    computed_through  timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (machine_id, version)
);

-- A machine's healthy baseline after each reset (repair, maintenance, first reading), per
-- sensor in the order of feature_versions.definition->'sensors'. Computed once, reused by
-- every later run so incremental runs need not re-read the baseline hours.
CREATE TABLE feature_baselines (
    machine_id   integer NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    version      text NOT NULL REFERENCES feature_versions (version) ON DELETE CASCADE,
    started_at   timestamptz NOT NULL,
    mean         double precision[] NOT NULL,
    std          double precision[] NOT NULL,
    count        double precision[] NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (machine_id, version, started_at)
);

-- For people and ad-hoc SQL: the features of a row as a jsonb object (NaN as null).
CREATE VIEW features_named AS
SELECT f.ts, f.machine_id, f.version,
       (SELECT jsonb_object_agg(u.name, CASE WHEN u.value = 'NaN' THEN NULL ELSE u.value END)
          FROM unnest(v.names, f."values") AS u(name, value)) AS "values"
FROM features f
JOIN feature_versions v USING (version);
