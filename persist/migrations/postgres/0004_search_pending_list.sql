-- The search index's pending list stays small. GIN's fast update appends new
-- entries to a pending list and merges it into the index when it outgrows
-- gin_pending_list_limit; the insert that crosses the limit does the whole merge.
-- With the default 4 MB that merge took one group commit to 300 ms under 18k
-- messages/s, and every sender in the batch waited for it (ack p99 ~100 ms). At
-- 128 kB the merges are small and frequent: ack p99 12-14 ms at 17k messages/s,
-- while batching most of fast update's saving (fastupdate = off cut the durable
-- ceiling from 37k to 22k messages/s). Measured with BenchmarkSendAtRate and
-- BenchmarkSendSenders (docs/benchmarks.md).
ALTER INDEX messages_search SET (gin_pending_list_limit = 128);
