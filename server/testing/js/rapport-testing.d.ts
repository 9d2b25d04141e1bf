// Types of rapport-testing.mjs: Rapport's testing kit for @playwright/test.
import type { Locator, Page, Request } from "@playwright/test";

export type PersonaName =
  | "hesitant" | "urgent" | "researcher" | "returning_with_problem"
  | "irritated" | "comparison_shopper" | "neutral";

export interface PlayOptions {
  /** Where the persona starts; the page's current address when omitted. */
  url?: string;
  /** The same seed makes the same visitor (timing, paths, texts). */
  seed?: number;
}

export interface Played {
  persona: PersonaName;
  seed: number;
  /** Every text the persona typed (for assertNothingPrivate). */
  typed: string[];
}

export interface Hint {
  id: string;
  kind: string;
  pattern: string;
  strength: number;
  source?: string;
  reasons?: string[];
  expires_at?: number;
  [field: string]: unknown;
}

export type Signal = { kind: string; [field: string]: unknown };

export class MissingMarkup extends Error {}
export class RapportNotReady extends Error {}

export const PERSONAS: PersonaName[];
export function play(page: Page, persona: PersonaName, options?: PlayOptions): Promise<Played>;
export function hesitant(page: Page, options?: PlayOptions): Promise<Played>;
export function urgent(page: Page, options?: PlayOptions): Promise<Played>;
export function researcher(page: Page, options?: PlayOptions): Promise<Played>;
export function returningWithProblem(page: Page, options?: PlayOptions): Promise<Played>;
export function irritated(page: Page, options?: PlayOptions): Promise<Played>;
export function comparisonShopper(page: Page, options?: PlayOptions): Promise<Played>;
export function neutral(page: Page, options?: PlayOptions): Promise<Played>;

export function watch(page: Page): unknown;
export function sentRequests(page: Page): Request[];
export function capturedSignals(page: Page, kind?: string): Signal[];
export function hintsReceived(page: Page): Promise<Hint[]>;
export function expectHint(
  page: Page, options: { pattern?: string; kind?: string; within?: number },
): Promise<Hint>;
export function expectShown(locator: Locator, options?: { within?: number }): Promise<void>;
export function assertNothingPrivate(
  requests: Request[], options?: { typed?: string[]; endpoint?: string },
): void;
export function holdoutScript(site: { siteId: number; share: number; control: boolean }): string;
export function expectHoldout(page: Page, control: boolean, options?: { within?: number }): Promise<void>;
export function seeded(seed: string | number): {
  random(): number; uniform(lo: number, hi: number): number; randint(lo: number, hi: number): number;
  choice<T>(xs: T[]): T; sample<T>(xs: T[], k: number): T[];
};
