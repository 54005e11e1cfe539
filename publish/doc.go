// Package publish makes a finished local file appear at an object URI
// atomically: readers see no object or the complete one, never a prefix,
// and a run killed at any point leaves nothing visible that a reader could
// mistake for output.
//
// File does it in four steps, each visible to nobody but the next:
//
//  1. upload the file to a staging key next to the target, hidden by the
//     warehouse layout rules ("_staging-<id>-<name>"), after noting the
//     staging key in an optional journal (so a later run can clean it up
//     even when it writes elsewhere);
//  2. publish: a conditional server-side move of the staging object to the
//     target (S3: a multipart copy completed with If-None-Match: *; local:
//     link(2)), which fails with storage.ErrExists rather than replace an
//     object another run published, unless Replace is set;
//  3. write the "_SUCCESS" marker beside it: JSON with the object, its row
//     count, size and SHA-256;
//  4. drop the journal entry.
//
// Readers that wait for _SUCCESS see complete, checked output; readers that
// do not still never see a partial object. Recover (run before the next
// publish) deletes staging objects of runs that died, and completes the
// marker of one that died between steps 2 and 3.
package publish
