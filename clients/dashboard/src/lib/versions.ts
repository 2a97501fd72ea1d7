// Kubernetes minors as the support matrix writes them ("1.33") from versions as clusters report
// them ("v1.33.5-eks-113cf36").

/** "1.33" of "v1.33.5-eks-113cf36"; undefined for what is not a version. */
export function minorOf(version: string | null | undefined): string | undefined {
  const match = /^v?(\d+)\.(\d+)/.exec(version?.trim() ?? '');
  return match ? `${Number(match[1])}.${Number(match[2])}` : undefined;
}

/** Orders minors numerically: 1.9 before 1.10. */
export function compareMinors(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}
