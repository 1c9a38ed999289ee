export { dashboard } from "./dashboard.js";
export { DASHBOARD_CSP, SECURITY_HEADERS } from "./security-headers.js";
