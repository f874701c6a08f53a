-- The statements one `POST /api/v1/interactions` runs on PostgreSQL for a known customer whose
-- interaction waits (as the service's statement log shows them; the answer is built from what
-- was written, not read back), for pgbench: the ceiling the database itself sets.
-- Run by `bench/enqueue.py --pgbench` on the benchmark's own database.
\set n random(0, 999)
SELECT customers.id AS cid, customers.name, customers.tier, customers.tags, identities.kind, identities.value FROM identities AS owner JOIN customers ON customers.id = owner.customer_id JOIN identities ON identities.customer_id = customers.id WHERE owner.kind = 'email' AND owner.value = 'customer' || :n || '@example.org' \gset
BEGIN;
SELECT epoch FROM router_epoch WHERE id = 1 FOR SHARE;
INSERT INTO interactions (customer_id, channel, direction, initiated_by, status, subject, topic, attributes, products, external_ref, complaint, created_at, queued_at, routing_since, updated_at) VALUES (:cid, 'email', 'inbound', 'customer', 'queued', 'Order 100000 has not arrived', 'delivery', '{}', '[]', NULL, false, now(), now(), now(), now()) RETURNING id AS iid \gset
INSERT INTO interaction_events (interaction_id, type, from_status, to_status, data, at) VALUES (:iid, 'created', NULL, 'queued', '{"channel": "email"}', now());
INSERT INTO messages (interaction_id, direction, author, agent_id, body, external_id, created_at) VALUES (:iid, 'inbound', 'customer', NULL, 'I ordered a week ago and the parcel has not come. Where is it?', NULL, now());
COMMIT;
