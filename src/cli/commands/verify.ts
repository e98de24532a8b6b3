/**
 * `feedchain verify [--json]`: audit every core of the chain stored here (writer feeds, the
 * view, blob cores) with Hypercore's audit in dry-run mode, recompute the chain hash over the
 * final prefix, print a report, and exit VERIFY_FAILED (7) if anything is wrong.
 */
import { FeedchainError } from '../../errors.js'
import type { VerifiedCore, VerifyReport } from '../../node.js'
import { chainArg, chainOption, jsonArg, jsonOption } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { escapeText } from '../format.js'
import type { Colors } from '../output.js'

/** Arguments of verify. */
export interface VerifyArgs {
  chain: Buffer | null
  json: boolean
}

/** Run the audit (in the daemon if one runs: it holds the store), print the report, fail on problems. */
export async function verify (ctx: Context, args: VerifyArgs): Promise<void> {
  const chain = await ctx.chain(args.chain)
  const { out } = ctx
  if (out.err.isTTY === true) out.info(out.ce.dim('verifying: auditing every core and recomputing the chain hash…'))
  const r = await chain.verify()
  const st = await chain.status()
  const record = { key: st.key, ok: r.ok, problems: r.problems, entries: r.entries, head: r.head, finalLength: st.finalLength, cores: r.feeds }
  await out.emit(record, () => reportLines(r, st.key, st.finalLength, out.c))
  if (!r.ok) {
    const n = r.problems.length
    throw new FeedchainError('VERIFY_FAILED', `verify found ${n} problem${n === 1 ? '' : 's'}${out.json ? '' : ' (listed above)'}: ${oneLine(r.problems[0] ?? '')}`)
  }
}

/** The text report: what was checked, then every problem, then the verdict. */
export function reportLines (r: VerifyReport, key: string, finalLength: number, c: Colors): string[] {
  const label = (s: string): string => c.bold(s.padEnd(9))
  const kinds: Array<[VerifiedCore['kind'], string]> = [['writer', 'writer feed'], ['view', 'chain view'], ['blobs', 'blob core']]
  const lines = [
    `${label('chain')}${key}`,
    r.entries === finalLength
      ? `${label('head')}${r.head}` + c.dim(`  (recomputed over ${r.entries} final entr${r.entries === 1 ? 'y' : 'ies'})`)
      : `${label('head')}` + c.red(`recomputed over the first ${r.entries} of ${finalLength} final entries only`),
  ]
  for (const [kind, name] of kinds) {
    for (const f of r.feeds.filter((x) => x.kind === kind)) {
      const bad = f.error !== null || f.corrupt || f.droppedBlocks > 0 || f.droppedTreeNodes > 0 || f.droppedBits > 0
      const stored = f.blocks === f.length ? `${f.blocks} block${f.blocks === 1 ? '' : 's'}` : `${f.blocks} of ${f.length} blocks stored here`
      const what = f.error !== null ? c.red('could not be read') : c.dim(`${stored}, ${f.treeNodes} tree nodes`)
      lines.push(`${bad ? c.red('✗') : c.green('✓')} ${name.padEnd(11)} ${f.key}  ${what}`)
    }
  }
  for (const p of r.problems) lines.push(`${c.red('problem')}  ${escapeText(p)}`)
  const cores = r.feeds.length
  lines.push(r.ok
    ? c.green(`ok: ${cores} core${cores === 1 ? '' : 's'} audited, chain hash matches`)
    : c.red(`FAILED: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`))
  return lines
}

function oneLine (s: string): string {
  const t = s.replace(/\s+/g, ' ')
  return t.length > 200 ? t.slice(0, 199) + '…' : t
}

/** The verify command. */
export const verifyCommand = defineCommand<VerifyArgs>({
  name: 'verify',
  summary: 'audit the stored feeds, blobs and view, and recompute the chain hash',
  description: 'Check everything of the chain stored here: every writer feed, the chain view and every blob core ' +
    '(file contents) is audited with Hypercore\'s audit in dry-run mode (each stored block and tree node checked ' +
    'against its hash; nothing is changed), and the chain hash is recomputed over the final prefix from the blocks ' +
    'themselves and compared with the view at every block. Prints what was checked and each problem found, and ' +
    'exits 7 (VERIFY_FAILED) if there is any. With a daemon running, the daemon runs the audit.\n\n' +
    'With --json, one object: key, ok, problems (one line each), entries (final entries hashed), head ' +
    '(recomputed), finalLength, cores (key, kind: writer|view|blobs, length, blocks, treeNodes, droppedBlocks, ' +
    'droppedTreeNodes, droppedBits, corrupt, error).',
  examples: [
    'feedchain verify',
    'feedchain verify --json | jq .problems',
  ],
  configure (cmd) {
    chainOption(cmd)
    jsonOption(cmd)
  },
  args ({ opts }) {
    return { chain: chainArg(opts), json: jsonArg(opts) }
  },
  run: verify,
})
