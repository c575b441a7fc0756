// Who is logged in, as the server said at the last /api/v1/session answer: name, role,
// permissions and the CSRF token. The server decides every permission (IoT-1005-1 5.1.2.1,
// the matrix in auth/permissions.py); the page only hides what the user may not use.

let current = null;
const endListeners = [];

export const me = () => current;

export function setMe(session) { current = session; }

export function may(perm) { return !!(current && current.permissions.includes(perm)); }

export const csrfToken = () => (current && current.csrf_token) || null;

// Run `fn` whenever the page drops its session (logout, or erase, which deletes every account).
export function onSessionEnd(fn) { endListeners.push(fn); }

export function endSession() {
  current = null;
  for (const fn of endListeners) fn();
}
