/**
 * The connection rules (zod, shared with the API) run in the browser too, where the page's
 * Content-Security-Policy forbids `new Function`: zod must not compile its validators, nor even probe whether
 * it may (the browser logs the refused probe). Imported first by main.tsx, before any schema is built.
 */
import { z } from "zod";

z.config({ jitless: true });
