/**
 * React.createElement under a short name. Node's type stripping runs .ts but not .tsx, so the
 * TUI builds its elements with calls instead of JSX and runs from source like the rest of the repo.
 */

import { createElement } from 'react';

export const h = createElement;
