#!/usr/bin/env node
// The feedchain command: runs the compiled CLI (build it with `npx tsc -p .`).
import('../dist/cli/index.js').then(({ cli }) => cli(), (e) => {
  process.stderr.write(`feedchain: internal error: cannot load the compiled CLI (run \`npm run build\`): ${e.message} [INTERNAL]\n`)
  process.exit(70)
})
