/**
 * glm-magics: puts the code that `%%glm --code` extracts into new notebook cells.
 *
 * The kernel side (`glm_magics/bridge.py`) opens a comm with target `glm_magics`
 * and says `hello`; this plugin answers `ready`. Later the kernel sends `insert`
 * messages on that comm; they arrive on iopub at once, even while the asking
 * cell is still running, and this plugin inserts one unexecuted code cell per
 * block right below the anchor cell. Replies (`inserted`, `error`) travel on the
 * shell channel, so the kernel reads them when it is idle again.
 *
 * After a page reload the kernel's comm is still open but this page does not
 * know it: `comm_info_request` finds it and the plugin says `ready` on it again.
 *
 * It also gives the control panel (`%glm panel`) Shift+Enter in its prompt box,
 * which ipywidgets' text area cannot do on its own.
 */

import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';

const TARGET = 'glm_magics';
const VERSION = 1;
const GENERATED_CLASS = 'glm-magics-generated';

type Frontend = 'jupyterlab' | 'notebook';

interface IInsertCell {
  source: string;
  metadata?: Record<string, unknown>;
}

interface IInsertMessage {
  type: 'insert';
  after: string | null;
  cells: IInsertCell[];
  request: number;
  client?: string;
}

type Reply = { [key: string]: string | number | boolean | string[] | null };

function isInsert(data: unknown): data is IInsertMessage {
  if (typeof data !== 'object' || data === null) {
    return false;
  }
  const message = data as Partial<IInsertMessage>;
  return (
    message.type === 'insert' &&
    Array.isArray(message.cells) &&
    message.cells.every(
      cell => typeof cell === 'object' && cell !== null && typeof cell.source === 'string'
    )
  );
}

function isGenerated(metadata: unknown): boolean {
  return typeof metadata === 'object' && metadata !== null && TARGET in metadata;
}

/** Adds the marker class to every cell of `panel` that the kernel generated. */
function markGeneratedCells(panel: NotebookPanel): void {
  for (const widget of panel.content.widgets) {
    widget.toggleClass(GENERATED_CLASS, isGenerated(widget.model.sharedModel.metadata));
  }
}

class Inserter {
  constructor(
    private readonly tracker: INotebookTracker,
    private readonly frontend: Frontend
  ) {}

  /** Registers the comm target on `kernel` (again after a change) and re-attaches. */
  watch(kernel: Kernel.IKernelConnection | null | undefined): void {
    if (!kernel || kernel.isDisposed) {
      return;
    }
    // The registry survives restarts; registering again only replaces the callback.
    kernel.registerCommTarget(TARGET, (comm, msg) => this.onOpen(kernel, comm, msg));
    if (this.watched.has(kernel)) {
      return;
    }
    this.watched.add(kernel);
    void this.reattach(kernel);
    kernel.connectionStatusChanged.connect((_, status) => {
      if (status === 'connected') {
        void this.reattach(kernel);
      }
    });
  }

  private onOpen(
    kernel: Kernel.IKernelConnection,
    comm: Kernel.IComm,
    msg: KernelMessage.ICommOpenMsg
  ): void {
    this.attach(kernel, comm);
    const data = msg.content.data as { type?: unknown };
    if (data?.type === 'hello') {
      this.sendReady(kernel, comm);
    }
  }

  /** Finds comms the kernel opened before this page loaded, and says ready on them. */
  private async reattach(kernel: Kernel.IKernelConnection): Promise<void> {
    try {
      const reply = await kernel.requestCommInfo({ target_name: TARGET });
      if (reply.content.status !== 'ok' || kernel.isDisposed) {
        return;
      }
      for (const [commId, info] of Object.entries(reply.content.comms)) {
        if (info.target_name !== TARGET || kernel.hasComm(commId)) {
          continue;
        }
        const comm = kernel.createComm(TARGET, commId);
        this.attach(kernel, comm);
        this.sendReady(kernel, comm);
      }
    } catch (reason) {
      console.debug('glm-magics: no comm info from the kernel', reason);
    }
  }

  private attach(kernel: Kernel.IKernelConnection, comm: Kernel.IComm): void {
    comm.onMsg = msg => {
      const data = msg.content.data;
      if (!isInsert(data)) {
        return;
      }
      if (data.client && data.client !== kernel.clientId) {
        return; // addressed to another browser connected to the same kernel
      }
      let reply: Reply;
      try {
        reply = this.insert(kernel, data);
      } catch (reason) {
        reply = { type: 'error', request: data.request, message: String(reason) };
      }
      if (!comm.isDisposed) {
        comm.send(reply);
      }
    };
  }

  private sendReady(kernel: Kernel.IKernelConnection, comm: Kernel.IComm): void {
    comm.send({
      type: 'ready',
      version: VERSION,
      frontend: this.frontend,
      client: kernel.clientId
    });
  }

  private panelsOf(kernel: Kernel.IKernelConnection): NotebookPanel[] {
    return this.tracker.filter(
      panel => panel.sessionContext.session?.kernel?.id === kernel.id && !!panel.content.model
    );
  }

  private insert(kernel: Kernel.IKernelConnection, message: IInsertMessage): Reply {
    const panels = this.panelsOf(kernel);
    if (panels.length === 0) {
      return {
        type: 'error',
        request: message.request,
        message: 'No open notebook uses this kernel.'
      };
    }
    let target: NotebookPanel | undefined;
    let index = -1;
    if (message.after) {
      for (const panel of panels) {
        index = panel.content.model!.sharedModel.cells.findIndex(
          cell => cell.id === message.after
        );
        if (index >= 0) {
          target = panel;
          break;
        }
      }
    }
    let anchor = 'cell';
    if (!target) {
      const current = this.tracker.currentWidget;
      target = current && panels.includes(current) ? current : panels[0];
      index = target.content.activeCellIndex;
      anchor = 'active-cell';
    }
    const shared = target.content.model!.sharedModel;
    const added = shared.insertCells(
      index + 1,
      message.cells.map(cell => ({
        cell_type: 'code',
        source: cell.source,
        metadata: (cell.metadata ?? {}) as Record<string, any>,
        outputs: [],
        execution_count: null
      }))
    );
    markGeneratedCells(target);
    const reply: Reply = {
      type: 'inserted',
      request: message.request,
      count: added.length,
      anchor,
      cell_ids: added.map(cell => cell.id)
    };
    if (anchor !== 'cell') {
      reply.message =
        message.after === null
          ? 'No anchor cell was given; inserted below the active cell.'
          : `Cell ${message.after} was not found; inserted below the active cell.`;
    }
    return reply;
  }

  private readonly watched = new WeakSet<Kernel.IKernelConnection>();
}

/**
 * Shift+Enter in the control panel's prompt box presses the panel's Send button.
 *
 * Listens on `window` in the capture phase, before ipywidgets' own handler stops
 * the event; the notebook ignores the keys because the focus is in a text field.
 */
function sendOnShiftEnter(event: KeyboardEvent): void {
  if (event.key !== 'Enter' || !event.shiftKey || event.isComposing) {
    return;
  }
  const target = event.target;
  if (!(target instanceof HTMLTextAreaElement) || !target.closest('.glm-panel-prompt')) {
    return;
  }
  event.preventDefault();
  event.stopPropagation();
  const send = target.closest('.glm-panel')?.querySelector('.glm-panel-send');
  if (send instanceof HTMLButtonElement && !send.disabled) {
    send.click();
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'glm-magics:plugin',
  description: 'Inserts code generated by %%glm --code as new, unexecuted cells.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    const frontend: Frontend = /notebook/i.test(app.name) ? 'notebook' : 'jupyterlab';
    const inserter = new Inserter(tracker, frontend);
    const follow = (panel: NotebookPanel) => {
      const context = panel.sessionContext;
      context.kernelChanged.connect((_, change) => inserter.watch(change.newValue));
      inserter.watch(context.session?.kernel);
      void context.ready.then(() => {
        inserter.watch(context.session?.kernel);
        markGeneratedCells(panel);
      });
    };
    tracker.forEach(follow);
    tracker.widgetAdded.connect((_, panel) => follow(panel));
    window.addEventListener('keydown', sendOnShiftEnter, true);
  }
};

export default plugin;
