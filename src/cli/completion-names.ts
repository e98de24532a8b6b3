/**
 * What the completion commands declare: the shells and the name of the hidden command the
 * scripts call. Apart from completion.ts so that declaring the commands (done on every run)
 * does not load @bomb.sh/tab, which only `completion` and `complete` use.
 */

/** Shells `feedchain completion <shell>` writes a script for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const

/** One of SHELLS. */
export type Shell = typeof SHELLS[number]

/** Name of the hidden command the scripts call on each TAB (the name the scripts hard-code). */
export const COMPLETE_COMMAND = 'complete'
