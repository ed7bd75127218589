// ECharts as the supervision view uses it: the core, the bar and tree series, the components
// they need and the SVG renderer (chart labels become SVG <text> nodes, made with
// createTextNode: text, never markup). Imported by supervision.js on its own, so that this
// chunk loads while the view's first requests to the API are on their way.
import { BarChart, TreeChart } from "echarts/charts";
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { SVGRenderer } from "echarts/renderers";

echarts.use([BarChart, TreeChart, GridComponent, LegendComponent, TooltipComponent, AriaComponent, SVGRenderer]);

export default echarts;
