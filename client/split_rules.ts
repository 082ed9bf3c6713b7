/**
 * @module Split rules of a job tree: how one completion becomes the sub-prompts of its children.
 * `lines` takes every non-empty line; `list` takes the items of a numbered or bulleted list (an
 * item's wrapped lines stay with it, text before the first item is a preamble and dropped); `json`
 * takes the elements of the first JSON array in the text (strings as they are, other values as
 * JSON), for a model asked to answer with one; `chunks` cuts the text into fan-out pieces of about
 * equal length (at spaces where there are some: a long text mapped in parallel, and any text at all,
 * noise included). Parts under a minimum length and parts over the
 * fan-out are dropped and said why (the stop rule "part too short").
 */

import { CamelidError } from "../chain/errors.ts";

/** The split rules, by name. */
export const SPLIT_RULES = ["lines", "list", "json", "chunks"] as const;

/** A split rule's name. */
export type SplitRule = typeof SPLIT_RULES[number];

/** A bad split rule or template (`tree/bad-split`, `tree/bad-template`). */
export class SplitRuleError extends CamelidError {}

/** True when `name` is a split rule. */
export function isSplitRule(name: string): name is SplitRule {
  return (SPLIT_RULES as readonly string[]).includes(name);
}

/** Limits on the parts taken from one completion. */
export interface SplitLimits {
  /** Most parts kept (the fan-out); later ones are dropped as `over-fanout`. */
  maxParts: number;
  /** Fewest characters a part needs (after trimming); shorter ones are dropped as `too-short`. */
  minChars: number;
}

/** A part left out, and why. */
export interface DroppedPart {
  /** The part's text. */
  text: string;
  /** Why it was left out. */
  reason: "too-short" | "over-fanout";
}

/** The parts of a completion that become children, and those left out. */
export interface SplitResult {
  /** Sub-prompts, in the completion's order. */
  parts: string[];
  /** Parts left out (too short, or beyond the fan-out). */
  dropped: DroppedPart[];
}

/** A list item's marker: `1.`, `2)`, `(3)`, `-`, `*`, `•`, `+` followed by a space. */
const ITEM = /^\s*(?:\(?\d{1,3}[.)]|[-*•+])\s+(.*)$/;

/** Every non-empty line, trimmed. */
export function splitLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

/**
 * The items of the first numbered or bulleted list: each item's text with its wrapped (non-item,
 * non-empty) lines joined by a space; text before the first item is a preamble and left out, and
 * a blank line followed by a line that is not an item ends the list.
 */
export function splitList(text: string): string[] {
  const items: string[] = [];
  let blank = false;
  for (const line of text.split(/\r?\n/)) {
    const m = line.match(ITEM);
    if (m) {
      items.push(m[1].trim());
      blank = false;
    } else if (line.trim() === "") {
      blank = true;
    } else if (items.length > 0) {
      if (blank) break; // the list ended; what follows is a closing remark
      items[items.length - 1] = `${items[items.length - 1]} ${line.trim()}`.trim();
    }
  }
  return items.map((i) => i.trim());
}

/** The end index (exclusive) of the JSON array opening at `start`, by bracket depth; -1 if open. */
function arrayEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * The elements of the first JSON array in `text` that parses (code fences and prose around it are
 * ignored): strings trimmed, other values as compact JSON; none when no array parses.
 */
export function splitJsonArray(text: string): string[] {
  for (let start = text.indexOf("["); start >= 0; start = text.indexOf("[", start + 1)) {
    const end = arrayEnd(text, start);
    if (end < 0) continue;
    let value: unknown;
    try {
      value = JSON.parse(text.slice(start, end));
    } catch {
      continue;
    }
    if (!Array.isArray(value)) continue;
    return value.map((v) => (typeof v === "string" ? v.trim() : JSON.stringify(v)));
  }
  return [];
}

/**
 * `text` (trimmed) cut into `n` pieces of about equal length, each cut moved back to the nearest
 * space within the piece when there is one; fewer pieces when the text has fewer characters.
 */
export function splitChunks(text: string, n: number): string[] {
  const chars = Array.from(text.trim());
  const pieces: string[] = [];
  let start = 0;
  for (let i = 1; i <= n && start < chars.length; i++) {
    let end = i === n ? chars.length : Math.max(start + 1, Math.round((chars.length * i) / n));
    if (end < chars.length) {
      const space = chars.lastIndexOf(" ", end);
      if (space > start) end = space;
    }
    const piece = chars.slice(start, end).join("").trim();
    if (piece) pieces.push(piece);
    start = end;
  }
  return pieces;
}

/** Splits `text` by `rule` into at most `limits.maxParts` parts of at least `limits.minChars`. */
export function splitCompletion(text: string, rule: SplitRule, limits: SplitLimits): SplitResult {
  const raw = rule === "lines"
    ? splitLines(text)
    : rule === "list"
    ? splitList(text)
    : rule === "json"
    ? splitJsonArray(text)
    : rule === "chunks"
    ? splitChunks(text, limits.maxParts)
    : badRule(rule);
  const parts: string[] = [];
  const dropped: DroppedPart[] = [];
  for (const part of raw) {
    if (part.length < limits.minChars) dropped.push({ text: part, reason: "too-short" });
    else if (parts.length >= limits.maxParts) dropped.push({ text: part, reason: "over-fanout" });
    else parts.push(part);
  }
  return { parts, dropped };
}

function badRule(rule: never): never {
  throw new SplitRuleError(
    "tree/bad-split",
    `unknown split rule ${String(rule)} (one of ${SPLIT_RULES.join(", ")})`,
  );
}

/** The default child template: the parent's text as context, then the part to work on. */
export const DEFAULT_CHILD_TEMPLATE = "Context:\n{parent}\n\nTask: {part}\n";

/**
 * The child's prompt: `template` with `{part}` replaced by the part and `{parent}` by the parent's
 * completion (each once, left to right, so a part's own braces are never expanded);
 * `tree/bad-template` when the template lacks `{part}`.
 */
export function childPrompt(template: string, part: string, parent: string): string {
  if (!template.includes("{part}")) {
    throw new SplitRuleError("tree/bad-template", "the child template must contain {part}");
  }
  return template.replace(/\{(part|parent)\}/g, (_, k) => (k === "part" ? part : parent));
}
