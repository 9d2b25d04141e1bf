/* Who the visitor is (client_py/identity.py): a random secret, kept first-party by this page, gives
 * the visitor key (`sha("rapport/visitor-key/v1:" + secret)`), which gives the id. The worker holds
 * only the key, which proves the visitor in collect, feedback and hints; only this page holds the
 * secret that opens the rights (rights.js). */

/**
 * base64url without padding.
 * @param {Uint8Array} a
 */
export const b64 = (a) =>
  btoa(String.fromCharCode.apply(null, a)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
/** A fresh random 128-bit id (the visitor secret, the session id). */
export const id = () => b64(crypto.getRandomValues(new Uint8Array(16)));
/**
 * @param {string} text
 * @returns {Promise<string>} base64url SHA-256 of `text`
 */
export const sha = (text) =>
  crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then((h) => b64(new Uint8Array(h)));
/** @param {string} secret */
export const visitorKey = (secret) => sha("rapport/visitor-key/v1:" + secret);
