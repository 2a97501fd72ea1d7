// How long kubeadm's join material lasts. Apart from join-secrets.ts (which loads the X.509
// library) so the renderers can read them without it.

/** How long a bootstrap token lasts (its `ttl`). */
export const BOOTSTRAP_TOKEN_TTL_MS = 24 * 60 * 60_000;
/** How long kubeadm keeps the uploaded certificates (`kubeadm-certs`); fixed by kubeadm. */
export const UPLOADED_CERTIFICATES_TTL_MS = 2 * 60 * 60_000;
