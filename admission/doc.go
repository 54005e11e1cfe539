// Package admission bounds how many queries run at once: a fixed number of
// running slots, a bounded FIFO queue behind them with a maximum wait, and a
// per-user cap on running queries. Overflow is refused at once, never piled up.
package admission
