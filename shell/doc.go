// Package shell is `quiver sql`: an interactive SQL shell on a Quiver
// server, and the same statements run from -c, -f or standard input.
//
// Statements end at a semicolon outside quotes and comments and may span
// lines (split.go). At a terminal the line editor is github.com/peterh/liner
// (history in a file, tab completion of keywords, schemas, tables and
// columns from the server's catalog); a long query shows a progress line
// on stderr from the server's quiver.progress action, and Ctrl-C cancels
// it on the server and returns to the prompt. DuckDB-CLI dot commands
// (.tables, .schema, .mode, .timer, .output, .help, .quit) are handled
// here (dot.go). Results render through package output, tables fitted to
// the terminal's width.
package shell
