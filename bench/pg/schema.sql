-- The purchase transaction's tables for the pgbench baseline: the same shape as
-- bench/sqlite_baseline.cpp (purchase, ledger entry, balance).
CREATE EXTENSION IF NOT EXISTS pgcrypto;  -- gen_random_uuid on servers before 13
CREATE TABLE purchases (
  purchase_id TEXT PRIMARY KEY,
  member_id TEXT NOT NULL,
  store_id TEXT NOT NULL,
  program_id TEXT NOT NULL,
  occurred_at BIGINT NOT NULL,
  total BIGINT NOT NULL,
  points_earned BIGINT NOT NULL
);
CREATE TABLE ledger_entries (
  entry_id BIGSERIAL PRIMARY KEY,
  member_id TEXT NOT NULL,
  program_id TEXT NOT NULL,
  store_id TEXT NOT NULL,
  delta BIGINT NOT NULL,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  occurred_at BIGINT NOT NULL
);
CREATE INDEX ledger_entries_by_member ON ledger_entries (member_id, program_id, entry_id);
CREATE TABLE balances (
  member_id TEXT NOT NULL,
  program_id TEXT NOT NULL,
  points BIGINT NOT NULL,
  PRIMARY KEY (member_id, program_id)
);
-- Every member starts with a balance row; :members is set with psql -v members=N.
INSERT INTO balances
  SELECT 'm' || (1000000000 + g), 'pr_bench', 0 FROM generate_series(0, :members - 1) AS g;
VACUUM ANALYZE;
