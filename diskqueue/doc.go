// Package diskqueue is fieldlog's durable FIFO: records wait in it, on
// disk, until the ingest server has confirmed them.
//
// A [Queue] stores opaque byte records in one bbolt file per directory
// (file mode 0600, directory 0700). The entry point is [Open].
//
// Guarantees:
//
//   - Append never waits for disk. Records go to a bounded in-memory
//     buffer that one writer goroutine commits in groups: one transaction
//     and one fsync for everything that arrived during the previous
//     commit. A record is durable once its group commits, within
//     milliseconds. When the buffer is full the record is dropped and
//     counted; the caller is never stalled.
//   - AppendSync commits everything appended before it, then its own
//     record, and returns after fsync. Sync does the same without a record.
//   - Two priority classes: Peek returns High records before Normal ones;
//     within a class order is FIFO, across Append and AppendSync.
//   - Peek reads at most one batch into memory, however large the
//     backlog, and removes nothing; Delete removes exactly the records
//     named by id, so a confirmation can never remove a record that was
//     not sent. Deletions ride on the writer's next group commit.
//   - Every record carries a CRC-32C checksum verified on read; a damaged
//     record is skipped, deleted and counted.
//   - Over the size cap (10 MB by default) the oldest Normal records are
//     dropped first, High ones only when nothing else is left; drops are
//     counted by reason and class.
//   - A second opener of the same directory gets ErrLocked after the lock
//     timeout (1 s by default), never a hang. A file bbolt cannot open is
//     renamed aside with a timestamp and a fresh queue starts; both kinds
//     of trouble are reported through Options.OnError and Open succeeds.
package diskqueue
