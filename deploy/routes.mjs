// The one table of operator-facing routes: which service answers each path prefix behind the single
// entry point. npm start's gateway reads it; the nginx configuration of docker-compose.yml and the
// Kubernetes Ingress are generated from it (node tools/generate-deploy.mjs), and
// tools/test/routes.spec.mjs checks it against every @Controller('api/v1/...') in services/*/src.
// Each service keeps its own port for /healthz, /readyz and /metrics; those are not routed here.

/** Path prefix -> service, matched on whole path segments, longest prefix first. */
export const ROUTES = Object.freeze(
  [
    ['/api/v1/clusters', 'inventory'],
    ['/api/v1/tokens', 'inventory'],
    ['/api/v1/audit', 'inventory'],
    ['/api/v1/overview', 'inventory'],
    ['/api/v1/dead-letters', 'inventory'],
    // The merged OpenAPI document of every service (Swagger UI and /api/docs/openapi.json).
    ['/api/docs', 'inventory'],
    ['/api/v1/provisioner', 'provisioner'],
    ['/api/v1/ssh-keys', 'provisioner'],
    ['/api/v1/management-clusters', 'provisioner'],
    ['/api/v1/hosted-control-planes', 'provisioner'],
    ['/api/v1/imports', 'importer'],
    ['/api/v1/credentials', 'importer'],
    ['/api/v1/registrations', 'importer'],
    ['/api/v1/connected-clusters', 'importer'],
    ['/api/v1/cloud-accounts', 'importer'],
    ['/api/v1/upgrade-plans', 'upgrade-planner'],
    ['/api/v1/support-matrix', 'upgrade-planner'],
    ['/api/v1/fleet', 'upgrade-planner'],
    ['/api/v1/tunnels', 'tunnel-broker'],
  ].map(([prefix, service]) => Object.freeze({ prefix, service })),
);

/** The route of a request path (query string allowed), or undefined. `/api/v1/clustersx` is not `/api/v1/clusters`. */
export function routeFor(path, routes = ROUTES) {
  const pathname = path.split(/[?#]/, 1)[0];
  let best;
  for (const route of routes) {
    if (pathname === route.prefix || pathname.startsWith(`${route.prefix}/`)) {
      if (!best || route.prefix.length > best.prefix.length) best = route;
    }
  }
  return best;
}
