package coordinator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/workerpool"
)

// relayState is what the client has received of one fragment, across
// attempts.
type relayState struct {
	schemaSent bool
	// rows is how many rows of the fragment the client has.
	rows int64
	// blind is set once a batch without a row offset was relayed: its rows
	// cannot be counted, so a failure after it cannot be resumed.
	blind bool
	// sent fingerprints the batches relayed as they came, in offset order,
	// so a re-run can be checked against them.
	sent []sentBatch
}

// sentBatch is a relayed batch: where it starts, its rows and a checksum of
// its IPC header. The header holds every buffer's length and every column's
// null count; the body cannot be compared, because the values under null
// slots are whatever DuckDB left in memory.
type sentBatch struct {
	offset, rows int64
	crc          uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// verify checks a skipped batch of a re-run against the batch the client
// got at the same offset, when there was one with the same rows (batch
// boundaries are the same whenever the output is: workers cut batches by
// rows and bytes). A difference means the fragment's output order is not
// deterministic (a parallel hash join, for one), and skipping by offset
// would drop some rows and repeat others. The check is a strong hint, not
// a proof: reordered rows with the same null counts and string lengths
// pass it.
func (st *relayState) verify(meta fragwire.BatchMeta, header []byte) bool {
	i := sort.Search(len(st.sent), func(i int) bool { return st.sent[i].offset >= meta.Offset })
	if i == len(st.sent) || st.sent[i].offset != meta.Offset || st.sent[i].rows != meta.Rows {
		return true // boundaries differ: nothing to compare with
	}
	return st.sent[i].crc == crc32.Checksum(header, castagnoli)
}

// Stream runs a fragment of a query on a worker and passes every Flight
// message it produces to send, in order, without decoding. If the worker
// fails (unreachable, died, reset, stalled) the fragment is re-run on
// another worker and the rows the client already has are skipped, using
// the row offsets workers attach to batches: the client sees every row
// exactly once and one schema message. Each message send gets is its own
// (send may keep it). The worker compresses batches with job.Codec.
func (c *Coordinator) Stream(ctx context.Context, job FragmentJob, send func(*flight.FlightData) error) error {
	ref := fragmentRef{FragmentJob: job}
	st := &relayState{}
	return c.run(ctx, ref, func(ctx context.Context, w *workerpool.Conn, ticket []byte) error {
		return c.relay(ctx, w, ticket, st, send)
	})
}

// relay runs one attempt. Messages of a re-run are dropped until the first
// row the client does not have: the schema always, dictionaries and whole
// batches before that row, and a batch straddling it is decoded, sliced
// and re-encoded. After that it is a plain relay again.
func (c *Coordinator) relay(ctx context.Context, w *workerpool.Conn, ticket []byte, st *relayState, send func(*flight.FlightData) error) error {
	if st.blind {
		return permanent(fmt.Errorf("%w: rows were sent without offsets", ErrNotResumable))
	}
	ws, stop, err := c.open(ctx, w, ticket)
	if err != nil {
		return err
	}
	defer stop()
	skip := st.rows
	skipping := skip > 0
	// held are this attempt's schema and dictionaries while skipping: what
	// decoding a straddling batch needs.
	var held []*flight.FlightData
	trace := traceOf(ctx)
	forward := func(fd *flight.FlightData) error {
		if err := send(fd); err != nil {
			return permanent(fmt.Errorf("send to client: %w", err))
		}
		c.bytes.Add(float64(len(fd.DataBody) + len(fd.DataHeader)))
		return nil
	}
	for {
		fd, err := ws.Recv()
		if errors.Is(err, io.EOF) {
			if skipping {
				return permanent(fmt.Errorf("%w: the re-run on %s ended after fewer rows than the %d already sent", ErrNotResumable, w.Addr, skip))
			}
			countsOf(ctx).rows.Store(st.rows)
			return nil
		}
		if err != nil {
			if st.blind {
				return permanent(fmt.Errorf("%w: %w", ErrNotResumable, err))
			}
			return err
		}
		typ, err := fragwire.MessageType(fd)
		if err != nil {
			return permanent(fmt.Errorf("worker %s: %w", w.Addr, err))
		}
		switch typ {
		case ipc.MessageSchema:
			if st.schemaSent {
				held = append(held, fd)
				continue
			}
			if err := forward(fd); err != nil {
				return err
			}
			st.schemaSent = true
		case ipc.MessageDictionaryBatch:
			if skipping {
				held = append(held, fd)
				continue
			}
			fd.AppMetadata = nil
			if err := forward(fd); err != nil {
				return err
			}
		case ipc.MessageRecordBatch:
			meta, ok := fragwire.DecodeBatchMeta(fd.AppMetadata)
			fd.AppMetadata = nil // for the coordinator only
			if skipping {
				if !ok {
					return permanent(fmt.Errorf("%w: worker %s sends no row offsets", ErrNotResumable, w.Addr))
				}
				end := meta.Offset + meta.Rows
				switch {
				case end <= skip:
					if !st.verify(meta, fd.DataHeader) {
						return permanent(fmt.Errorf("%w: the re-run on %s returned other rows before row %d than the first run "+
							"(the fragment's row order is not deterministic); run the query again", ErrNotResumable, w.Addr, skip))
					}
					continue // the client has these rows
				case meta.Offset < skip:
					if err := trace.rows(end - skip); err != nil {
						return permanent(err)
					}
					if err := c.sendTail(held, fd, skip-meta.Offset, forward); err != nil {
						return err
					}
					st.rows = end
					skipping, held = false, nil
					continue
				case meta.Offset > skip:
					return permanent(fmt.Errorf("%w: the re-run on %s skipped from row %d to %d", ErrNotResumable, w.Addr, skip, meta.Offset))
				}
				skipping, held = false, nil
			}
			if ok {
				if err := trace.rows(meta.Rows); err != nil {
					return permanent(err)
				}
			}
			if err := forward(fd); err != nil {
				return err
			}
			if ok {
				st.rows = meta.Offset + meta.Rows
				st.sent = append(st.sent, sentBatch{offset: meta.Offset, rows: meta.Rows, crc: crc32.Checksum(fd.DataHeader, castagnoli)})
			} else {
				st.blind = true
			}
		default:
			if err := forward(fd); err != nil {
				return err
			}
		}
	}
}

// sendTail decodes batch (with the schema and dictionaries in held),
// sends its rows from `from` on, re-encoded, and no schema message.
func (c *Coordinator) sendTail(held []*flight.FlightData, batch *flight.FlightData, from int64, send func(*flight.FlightData) error) error {
	msgs := flightwire.Messages(append(append([]*flight.FlightData(nil), held...), batch))
	rdr, err := flight.NewRecordReader(&msgs, ipc.WithAllocator(c.mem))
	if err != nil {
		return permanent(fmt.Errorf("decode batch to resume: %w", err))
	}
	defer rdr.Release()
	if !rdr.Next() {
		return permanent(fmt.Errorf("decode batch to resume: %w", errors.Join(rdr.Err(), errors.New("no batch"))))
	}
	rec := rdr.RecordBatch()
	tail := rec.NewSlice(from, rec.NumRows())
	defer tail.Release()
	w := flight.NewRecordWriter(noSchema{send}, ipc.WithSchema(rdr.Schema()), ipc.WithAllocator(c.mem))
	if err := w.Write(tail); err != nil {
		_ = w.Close() // the error above is the one to report
		return permanent(fmt.Errorf("re-encode batch to resume: %w", err))
	}
	return w.Close()
}

// noSchema passes on every message but the schema, which the client
// already has.
type noSchema struct {
	send func(*flight.FlightData) error
}

func (n noSchema) Send(fd *flight.FlightData) error {
	if t, err := fragwire.MessageType(fd); err == nil && t == ipc.MessageSchema {
		return nil
	}
	// The record writer reuses its message and body buffer once Send
	// returns; Stream's receiver may keep what it is given.
	return n.send(&flight.FlightData{
		DataHeader:  bytes.Clone(fd.DataHeader),
		AppMetadata: bytes.Clone(fd.AppMetadata),
		DataBody:    bytes.Clone(fd.DataBody),
	})
}
