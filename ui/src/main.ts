// Mounts the VMDeck UI with the backend for where it runs (Tauri IPC or the HTTP dev server).
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { detectBackend } from './lib/backend';

const target = document.getElementById('app');
if (target) {
  mount(App, { target, props: { backend: detectBackend() } });
}
