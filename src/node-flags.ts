/**
 * The V8 flags the feedchain command starts Node with (bin/feedchain.js execs `node` with them;
 * test/node-flags.test.js checks that the two agree).
 *
 * `--initial-old-space-size=48`: V8 sets the old generation's limit to the live heap plus a
 * small step, and with feedchain's 10-11 MB of live JavaScript heap that limit sits near 26 MB.
 * A transfer promotes objects steadily (requests, messages and Buffers that outlive two
 * scavenges), so both sides started a full mark-compact about eight times a second, each marking
 * the whole heap and freeing almost nothing (13 -> 11 MB): 15% of both processes' CPU during a
 * `get`, measured with `BENCH_PROFILE=1 node bench/transfer.js`. A 48 MB starting limit leaves
 * the heap room to grow before V8 marks: a third as many mark-compacts (36 and 24 instead of 114
 * and 69 in a 512 MiB transfer). The same 1 GiB get, three runs each, interleaved: 64.3,
 * 69.5, 70.9 MB/s before, 71.4, 76.3, 78.3 with the flag; CPU 9.0 -> 7.7 s sending and 17.1 ->
 * 15.7 s receiving; peak RSS 158-174 / 162-166 MB before, 158-164 / 168-174 MB with it
 * (bench/README.md, transfer).
 *
 * The flag sizes the heap when the process starts: it cannot be set from inside (V8's
 * setFlagsFromString comes too late, and Node refuses it in NODE_OPTIONS). A program that
 * embeds the library and moves large files can start Node with the same flags.
 */
export const NODE_FLAGS: readonly string[] = Object.freeze(['--initial-old-space-size=48'])
