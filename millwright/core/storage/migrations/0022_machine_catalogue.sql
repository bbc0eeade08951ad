-- The plant's machine list from `millwright import machines` (issue #19): alternative groups
-- (machines that can stand in for one another), and per sensor a description and whether it
-- is an operating-condition setting (used for regime normalisation).

ALTER TABLE machines ADD COLUMN alternative_groups text[] NOT NULL DEFAULT '{}';
ALTER TABLE sensors ADD COLUMN description text;
ALTER TABLE sensors ADD COLUMN operating_condition boolean NOT NULL DEFAULT false;
