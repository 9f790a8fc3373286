/**
 * The role dbkit last connected as, remembered so that the hint of a permission error (SQLSTATE
 * 42501) can name it in the GRANT that fixes it. A role name, never a secret.
 */
let connected: string | null = null;

export function rememberConnectedRole(role: string | null): void {
  connected = role;
}

export function connectedRole(): string | null {
  return connected;
}
