// Package diskqueue is fieldlog's durable FIFO: records wait in it, on
// disk, until the ingest server has confirmed them.
//
// A [Queue] stores opaque byte records in one bbolt file per directory
// (file mode 0600, directory 0700). The entry points are [Open], and
// [OpenReadOnly] for inspection.
//
// Every record the queue accepts ends in exactly one of three states:
// stored (until [Queue.Delete] confirms it), or dropped and counted with a
// reason (see the Drop constants). Counts are kept by reason and class in
// the queue file until [Queue.MarkReported] says a sink delivered a report
// of them, so a loss is shipped even when it happened in an earlier run.
//
// Guarantees:
//
//   - Append never waits for disk. Records go to a bounded in-memory
//     buffer that one writer goroutine commits in groups: one transaction
//     and one fsync for everything that arrived during the previous
//     commit. A record is durable once its group commits, within
//     milliseconds. When the buffer is full Append drops the record and
//     counts it (DropBufferFull); AppendWait waits for room instead.
//   - AppendSync commits everything appended before it, then its own
//     record, and returns after fsync. Sync does the same without a record.
//   - A commit that fails (disk full, file size limit, I/O error) is
//     retried with backoff; if it still fails, its records are counted as
//     DropDiskError, AppendSync and Sync return the error, and
//     Options.OnError hears of it. The queue works again as soon as the
//     disk does, without a restart; confirmations that could not be
//     committed are kept for the next commit.
//   - Two priority classes: Peek returns High records before Normal ones;
//     within a class order is FIFO, across Append and AppendSync.
//   - Peek reads at most one batch into memory, however large the
//     backlog, and removes nothing; Delete removes exactly the records
//     named by id, so a confirmation can never remove a record that was
//     not sent. Deletions ride on the writer's next group commit; Discard
//     deletes and counts a drop in the same transaction.
//   - Every record carries a CRC-32C checksum verified on read; a damaged
//     record, or one whose key is no longer an id, is skipped, deleted and
//     counted (DropCorrupt).
//   - Over the size cap (DefaultMaxBytes, 10 MB, sized for field devices;
//     a service sets Options.MaxBytes, e.g. ServiceMaxBytes) the oldest
//     Normal records are dropped first, High ones only when nothing else is
//     left. The first drop of a run is reported through Options.OnError at
//     once, later ones at most once a minute.
//   - Only the writer goroutine writes to the file: appends,
//     confirmations, discards, Clear and the removal of damaged records.
//   - Opening never crashes the process, whatever the file holds: before
//     bbolt maps it, the file's meta pages, size and page tree are
//     validated, down to the bytes of each page that no element uses,
//     which bbolt leaves zero (damage that lowers a page's element count
//     would otherwise hide records from bbolt). A file proven damaged is renamed aside with a timestamp
//     and a fresh queue starts (reported through Options.OnError and
//     Stats.Quarantined); any other error (permission, descriptors, a
//     read-only file system) is returned and the file left as it was.
//   - A second opener of the same directory gets ErrLocked after the lock
//     timeout (1 s by default), never a hang.
//   - OpenReadOnly never writes, deletes or creates anything.
package diskqueue
