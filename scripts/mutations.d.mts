// Types of scripts/mutations.mjs, for test/mutations.test.ts.
export interface Mutation {
  guarantee: string;
  file: string;
  from?: string;
  to?: string;
  edits?: [string, string][];
  also?: { file: string; edits: [string, string][] };
  tests: string[];
}
export interface Change {
  file: string;
  path: string;
  original: string;
  mutated: string;
  gone: string[];
}
export const ROOT: string;
export const MUTATIONS: Mutation[];
export function plan(mutation: Mutation): Change[];
