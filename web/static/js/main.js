// Entry point: start the app once the modules are loaded.
import { App } from './app.js';

const app = new App();
window.chatd = app; // for the browser tests and for debugging from the console
app.start();
