// Byte values the text-format scanners compare against (parse-text.ts and the
// /metrics hot path in scrape/relabel.ts).

export const TAB = 9;
export const NL = 10;
export const CR = 13;
export const SP = 32;
export const QUOTE = 34;
export const HASH = 35;
export const PLUS = 43;
export const COMMA = 44;
export const MINUS = 45;
export const DOT = 46;
export const COLON = 58;
export const EQ = 61;
export const BACKSLASH = 92;
export const UNDERSCORE = 95;
export const LBRACE = 123;
export const RBRACE = 125;
