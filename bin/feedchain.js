#!/usr/bin/env sh
':' //; exec node --initial-old-space-size=48 "$0" "$@"
// The feedchain command: runs the compiled CLI (build it with `npx tsc -p .`).
// The first two lines are for the shell and for Node at once: run as a command, sh execs Node
// (same PID) with the V8 flags of src/node-flags.ts; Node reads line 2 as a string and a
// comment. `node bin/feedchain.js` works too, without the flags (docs/architecture.md, "The
// JavaScript heap on large transfers").
import('../dist/cli/index.js').then(({ cli }) => cli(), (e) => {
  process.stderr.write(`feedchain: internal error: cannot load the compiled CLI (run \`npm run build\`): ${e.message} [INTERNAL]\n`)
  process.exit(70)
})
