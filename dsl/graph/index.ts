export {
  buildPolicyGraph,
  type GraphEdge,
  type GraphEdgeKind,
  type GraphNode,
  type GraphNodeKind,
  type PolicyGraph,
  type SourceLocation,
} from './graph.js';
export { toDot, nodeSvgId, edgeSvgId } from './dot.js';
export { toMermaid } from './mermaid.js';
export { renderSvg, dotToSvg, loadGraphviz } from './render.js';
