// A call's timeline (/history/{id}/): the page is written by the server; this only puts its times,
// lengths and numbers in the reader's terms.

import { localize } from "./localize.js";

localize(document.getElementById("main"));
