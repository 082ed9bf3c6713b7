/**
 * @module The light client's HTTP client for this page's node (loaded with the wallet and jobs
 * views only: it brings the signature code).
 */

import { NodeClient } from "../../relay/client.ts";
import { origin } from "./api.ts";

/** The node serving this page, as the light client speaks to it. */
export const node: NodeClient = new NodeClient(origin);
