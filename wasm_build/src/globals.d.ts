// Types for `tsc --checkJs` over wasm_build/src (tsconfig.json): what the browsers have but
// TypeScript's DOM library does not declare, and Rapport's own global.
interface Window {
  rapport: any;
  doNotTrack?: string;
  __rapportDebug?: any;
}
interface Navigator {
  globalPrivacyControl?: boolean;
}
