-- One purchase: insert the purchase, insert its ledger entry, add the points to the balance.
-- Run with pgbench -M prepared -D members=N.
\set mid random(0, :members - 1)
\set total random(1, 400) * 50
\set points :total / 100
BEGIN;
INSERT INTO purchases (purchase_id, member_id, store_id, program_id, occurred_at, total,
                       points_earned)
  VALUES (gen_random_uuid()::text, 'm' || (1000000000 + :mid), 'st_bench', 'pr_bench',
          extract(epoch FROM now())::bigint, :total, :points)
  RETURNING purchase_id AS pid \gset
INSERT INTO ledger_entries (member_id, program_id, store_id, delta, kind, ref, occurred_at)
  VALUES ('m' || (1000000000 + :mid), 'pr_bench', 'st_bench', :points, 'earn', :pid,
          extract(epoch FROM now())::bigint);
UPDATE balances SET points = points + :points
  WHERE member_id = 'm' || (1000000000 + :mid) AND program_id = 'pr_bench';
COMMIT;
